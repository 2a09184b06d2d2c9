// Package studio is the engine both faces of DDPM Studio use — the command
// line and the window. It holds no kernels and no widgets: it binds the
// diffusion package's samplers to a U-Net and keeps what a person explores.
//
// # Overview
//
//   - Open loads a model folder (flat or pipeline layout) or the embedded
//     default model, picks the backend, hashes the weights from the bytes it
//     reads and returns a Session whose Info describes the model as data.
//   - A Recipe says everything a picture depends on: model and weights hash,
//     sampler, steps, η, schedule (by kind and parameters, or as a list of
//     betas), seed, sample indices, class and guidance, inpainting inputs by
//     content hash, and — for a fork — its parent recipe and fork point.
//     Recipe.Validate is the one rule set for flags, PNGs and the app;
//     Session.Check adds what depends on the model.
//   - Session.Start runs a recipe on a worker goroutine and returns a Run:
//     each event reaches OnEvent as immutable copies (x_t, x̂_0, and ε̂ and
//     the drawn noise on request), at most once; the run can be paused,
//     resumed, cancelled (within one event: a forward pass stops between
//     U-Net blocks) and waited for, and its chain read at any moment,
//     including after a cancel.
//   - Session.Fork continues a run from any recorded frame with a new seed,
//     η, sampler, step count, class or guidance. Frames before the fork are
//     the parent's; with nothing changed the fork reproduces the parent bit
//     for bit, because noise is a pure function of (seed, step).
//   - Retention: a run keeps every frame while the chain fits its budget
//     (DefaultRetention); beyond it every k-th frame is kept and the others
//     are recomputed on demand from the nearest kept one, bit-identical.
//     Whatever the stride, every step's displayed pictures are kept (Shot:
//     8-bit, as a view paints them), so a timeline never waits on the
//     U-Net; a fork between kept states recomputes its start on its own
//     goroutine (StartOptions.Recompute). Holding says what a run keeps.
//   - Estimate: a recipe's U-Net passes and FLOPs over the speed this
//     session has timed, or a probe of the backend before any pass
//     (ProbeSpeed); CheckBatch refuses a batch over the activation budget,
//     naming the largest that fits. A CPU session keeps each kernel only in
//     the form its products read (cpu.Backend.ForInference).
//   - Pictures: samples and chains become PNGs that carry their recipe (and
//     an inpainting mask), GIFs and strips.
//
// # Concurrency
//
// A Session runs one recipe at a time: Start while a run is active returns
// ErrBusy (cancel or wait first). Frames of finished or running runs may be
// read from any goroutine at any time; a recomputation shares the model
// with a running run one forward pass at a time. OnEvent is called on the
// run's goroutine; it must not block for long (the app posts to the UI
// goroutine and returns).
package studio
