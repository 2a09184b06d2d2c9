package train

import (
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet"
)

// BenchmarkMNISTTrainStep is the trainer's whole step on the default
// model's config at the batch of its current run: data and noise, the
// tape's forward and backward, AdamW and the EMA. unet's benchmark of the
// same name times the tape alone; the difference is the trainer's share.
func BenchmarkMNISTTrainStep(b *testing.B) {
	dir, err := FindMNIST()
	if err != nil {
		b.Skip(err)
	}
	data, err := LoadMNIST(dir, true)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := unet.LoadConfig("configs/mnist-default.json")
	if err != nil {
		b.Fatal(err)
	}
	o := DefaultOptions()
	o.Batch, o.Log, o.CheckpointEvery, o.SampleEvery = 64, nil, 0, 0
	tr, err := New(cfg, data, b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	for range 2 { // size and fault in the tape's memory
		if _, err := tr.TrainStep(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.TrainStep(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/step")
}
