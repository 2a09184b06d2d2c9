package cpu

import (
	"errors"

	"github.com/ddpmstudio/ddpmstudio/internal/hugemem"
)

// errReleased is the sticky error of a use of weights released for
// inference.
var errReleased = errors.New("cpu: a weight tensor was released once packed for sampling (ForInference) and is needed again in another form or read back; reopen the model to do that")

// ForInference lets c keep a convolution's weights only in the form its
// products read, packed or Winograd-transformed, once that form is made:
// a model that is only sampled from does not hold its kernels twice (a
// 256² model's are 420 MB of its 455). The original's memory goes back to
// the system at once (hugemem.Release), even when it is part of a checkpoint
// buffer the tensor adopted. Uploading new values brings a tensor back;
// reading a released one (Download), or a convolution that needs another
// form of it (the same model at another image size), is an error that Err
// reports — never a silent zero.
func (c *Backend) ForInference() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inference = true
}

// release drops w's values after their packed or transformed form was
// made, in inference mode. The caller holds c.mu.
func (c *Backend) release(w *Tensor) {
	if !c.inference || w.released {
		return
	}
	hugemem.Release(w.Data)
	w.Data, w.released = nil, true
}

func (c *Backend) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(err)
}

func (c *Backend) failLocked(err error) {
	if c.err == nil {
		c.err = err
	}
}
