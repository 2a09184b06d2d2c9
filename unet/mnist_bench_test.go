package unet

import (
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// mnistLike is the shape of the embedded default model's family: 28×28
// grey, two or three levels, class-conditional.
func mnistLike(ch []int, attnLast bool) Config {
	c := DefaultConfig()
	c.SampleSize = [2]int{28, 28}
	c.InChannels, c.OutChannels = 1, 1
	c.BlockOutChannels = ch
	c.DownBlockTypes, c.UpBlockTypes = nil, nil
	for i := range ch {
		d, u := DownBlock, UpBlock
		if attnLast && i == len(ch)-1 {
			d = AttnDownBlock
		}
		if attnLast && i == 0 {
			u = AttnUpBlock
		}
		c.DownBlockTypes = append(c.DownBlockTypes, d)
		c.UpBlockTypes = append(c.UpBlockTypes, u)
	}
	c.LayersPerBlock = 1
	c.NormNumGroups = 8
	c.AttentionHeadDim = 32
	c.NumClassEmbeds = 11
	return c
}

func BenchmarkMNISTForward(b *testing.B) {
	m, err := New(mnistLike([]int{32, 64, 64}, false), 1, cpu.New())
	if err != nil {
		b.Fatal(err)
	}
	x := randomInput(28 * 28)
	must(m.Forward(x, 1, 28, 28, []float32{5}, []int{1}))(b) // warm the arena
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		must(m.Forward(x, 1, 28, 28, []float32{5}, []int{1}))(b)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/forward")
}

func BenchmarkMNISTTrainStep(b *testing.B) {
	m, err := New(mnistLike([]int{32, 64, 64}, false), 1, cpu.New())
	if err != nil {
		b.Fatal(err)
	}
	const n = 64
	x := randomInput(n * 28 * 28)
	ts, cl := make([]float32, n), make([]int, n)
	tp := must(m.NewTape())(b)
	// Two warm-up steps: the first sizes the tape's memory, the second
	// faults it in; training runs thousands of steps on that memory.
	for range 2 {
		out := must(tp.Forward(x, n, 28, 28, ts, cl))(b)
		if err := tp.Backward(out); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := must(tp.Forward(x, n, 28, 28, ts, cl))(b)
		if err := tp.Backward(out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/step")
}
