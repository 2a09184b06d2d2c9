package cpu

// Held counts the bytes a CPU backend keeps beside its tensors, for the
// tables of where a model's memory goes (docs/cpu-speed.md) and for the
// memory estimates: the packed weights of the products, the
// Winograd-transformed kernels (sixteen matrices a kernel, 16/9 of its
// size), and the scratch its kernels reuse from layer to layer.
type Held struct {
	Packed, Winograd, Scratch int64
}

// Held reports what c holds now.
func (c *Backend) Held() Held {
	c.mu.Lock()
	defer c.mu.Unlock()
	var h Held
	for _, e := range c.packed {
		h.Packed += e.a.Bytes()
	}
	for _, e := range c.flipped {
		h.Packed += e.a.Bytes()
	}
	for _, e := range c.wino {
		for _, u := range e.u {
			h.Winograd += u.Bytes()
		}
	}
	f := func(bs ...[]float32) {
		for _, b := range bs {
			h.Scratch += 4 * int64(cap(b))
		}
	}
	f(c.scratch, c.trainCol)
	for _, g := range c.grids {
		f(g.in, g.out)
	}
	for _, s := range c.winos {
		f(s.p, s.v, s.m, s.o)
	}
	return h
}
