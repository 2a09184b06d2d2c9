package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/mat"

	"github.com/ddpmstudio/ddpmstudio/unet/sgemm"
)

// Classifier is a small MLP (pixels → 256 ReLU → classes) used to judge
// generated digits: its hidden layer gives the features of a Fréchet
// distance, its output the class a sample is read as. It is an independent
// check of the diffusion model, trained here on the real data only.
type Classifier struct {
	In, Hidden, Classes int
	W1, B1, W2, B2      []float32
}

// TrainClassifier fits the MLP with SGD and momentum.
func TrainClassifier(d *Dataset, epochs int, seed uint64) (*Classifier, error) {
	if len(d.Classes) == 0 {
		return nil, fmt.Errorf("the data has no classes to learn")
	}
	in, hid, k := d.C*d.H*d.W, 256, len(d.Classes)
	rng := rand.New(rand.NewPCG(seed, 7))
	c := &Classifier{In: in, Hidden: hid, Classes: k, W1: make([]float32, hid*in), B1: make([]float32, hid), W2: make([]float32, k*hid), B2: make([]float32, k)}
	for i := range c.W1 {
		c.W1[i] = float32(rng.NormFloat64() * math.Sqrt(2/float64(in)))
	}
	for i := range c.W2 {
		c.W2[i] = float32(rng.NormFloat64() * math.Sqrt(1/float64(hid)))
	}
	impl := sgemm.New()
	const batch = 128
	x := make([]float32, batch*in)
	h := make([]float32, batch*hid)
	o := make([]float32, batch*k)
	dh := make([]float32, batch*hid)
	vel := [][]float32{make([]float32, len(c.W1)), make([]float32, hid), make([]float32, len(c.W2)), make([]float32, k)}
	gW1, gB1, gW2, gB2 := make([]float32, len(c.W1)), make([]float32, hid), make([]float32, len(c.W2)), make([]float32, k)
	labels := make([]int, batch)
	steps := epochs * d.Len() / batch
	for s := 0; s < steps; s++ {
		lr := float32(0.05 * 0.5 * (1 + math.Cos(math.Pi*float64(s)/float64(steps))))
		for b := 0; b < batch; b++ {
			i := rng.IntN(d.Len())
			copy(x[b*in:], d.Images[i])
			labels[b] = d.Labels[i]
		}
		c.forward(impl, x, h, o, batch)
		// Softmax cross-entropy gradient on the logits.
		for b := 0; b < batch; b++ {
			row := o[b*k : (b+1)*k]
			softmax(row)
			row[labels[b]] -= 1
			for j := range row {
				row[j] /= batch
			}
		}
		clear(gB2)
		clear(gB1)
		impl.Sgemm(blas.Trans, blas.NoTrans, k, hid, batch, 1, o, k, h, hid, 0, gW2, hid)
		impl.Sgemm(blas.NoTrans, blas.NoTrans, batch, hid, k, 1, o, k, c.W2, hid, 0, dh, hid)
		for b := 0; b < batch; b++ {
			for j := 0; j < k; j++ {
				gB2[j] += o[b*k+j]
			}
			for j := 0; j < hid; j++ {
				if h[b*hid+j] <= 0 {
					dh[b*hid+j] = 0
				}
				gB1[j] += dh[b*hid+j]
			}
		}
		impl.Sgemm(blas.Trans, blas.NoTrans, hid, in, batch, 1, dh, hid, x, in, 0, gW1, in)
		for pi, pg := range [][2][]float32{{c.W1, gW1}, {c.B1, gB1}, {c.W2, gW2}, {c.B2, gB2}} {
			p, g, v := pg[0], pg[1], vel[pi]
			for j := range p {
				v[j] = float32(0.9*v[j]) + g[j]
				p[j] -= float32(lr * v[j])
			}
		}
	}
	return c, nil
}

func softmax(row []float32) {
	m := row[0]
	for _, v := range row {
		m = max(m, v)
	}
	var s float32
	for j, v := range row {
		row[j] = float32(math.Exp(float64(v - m)))
		s += row[j]
	}
	for j := range row {
		row[j] /= s
	}
}

// forward computes hidden ReLU features h and logits o for n images in x.
func (c *Classifier) forward(impl sgemm.Implementation, x, h, o []float32, n int) {
	for b := 0; b < n; b++ {
		copy(h[b*c.Hidden:(b+1)*c.Hidden], c.B1)
		copy(o[b*c.Classes:(b+1)*c.Classes], c.B2)
	}
	impl.Sgemm(blas.NoTrans, blas.Trans, n, c.Hidden, c.In, 1, x, c.In, c.W1, c.In, 1, h, c.Hidden)
	for i, v := range h[:n*c.Hidden] {
		if v < 0 {
			h[i] = 0
		}
	}
	impl.Sgemm(blas.NoTrans, blas.Trans, n, c.Classes, c.Hidden, 1, h, c.Hidden, c.W2, c.Hidden, 1, o, c.Classes)
}

// Classify returns each image's predicted class and hidden features.
func (c *Classifier) Classify(images [][]float32) ([]int, [][]float32) {
	r := c.Read(images)
	return r.Labels, r.Features
}

// Reading is what the classifier makes of a set of images.
type Reading struct {
	Labels     []int       // the class each image is read as
	Confidence []float32   // its softmax probability: how sure the reading is
	Features   [][]float32 // hidden-layer features, for a Fréchet distance
}

// MeanConfidence is the mean of r.Confidence: about 0.97 on real test
// digits; malformed samples pull it down.
func (r Reading) MeanConfidence() float64 {
	var s float64
	for _, v := range r.Confidence {
		s += float64(v)
	}
	return s / float64(len(r.Confidence))
}

// Histogram counts the images read as each class.
func (r Reading) Histogram(classes int) []int {
	h := make([]int, classes)
	for _, l := range r.Labels {
		h[l]++
	}
	return h
}

// Read classifies images and keeps how sure each reading is.
func (c *Classifier) Read(images [][]float32) Reading {
	impl := sgemm.New()
	n := len(images)
	x := make([]float32, n*c.In)
	for i, img := range images {
		copy(x[i*c.In:], img)
	}
	h := make([]float32, n*c.Hidden)
	o := make([]float32, n*c.Classes)
	c.forward(impl, x, h, o, n)
	r := Reading{Labels: make([]int, n), Confidence: make([]float32, n), Features: make([][]float32, n)}
	for i := range r.Labels {
		row := o[i*c.Classes : (i+1)*c.Classes]
		for j := range row {
			if row[j] > row[r.Labels[i]] {
				r.Labels[i] = j
			}
		}
		softmax(row)
		r.Confidence[i] = row[r.Labels[i]]
		r.Features[i] = h[i*c.Hidden : (i+1)*c.Hidden]
	}
	return r
}

// Accuracy is the fraction of d the classifier labels correctly.
func (c *Classifier) Accuracy(d *Dataset) float64 {
	got, _ := c.Classify(d.Images)
	right := 0
	for i, l := range got {
		if l == d.Labels[i] {
			right++
		}
	}
	return float64(right) / float64(len(got))
}

// FrechetDistance is ‖μa − μb‖² + tr(Σa + Σb − 2(Σa·Σb)^½) between two
// feature sets: FID's formula, here on the classifier's features.
func FrechetDistance(a, b [][]float32) (float64, error) {
	if len(a) < 2 || len(b) < 2 {
		return 0, fmt.Errorf("need at least two samples in each set")
	}
	mu1, s1 := moments(a)
	mu2, s2 := moments(b)
	var d2 float64
	for i := range mu1 {
		d2 += float64((mu1[i] - mu2[i]) * (mu1[i] - mu2[i]))
	}
	// tr((Σa·Σb)^½) = tr((√Σa·Σb·√Σa)^½), a symmetric PSD square root.
	r1, err := sqrtSym(s1)
	if err != nil {
		return 0, err
	}
	var m, mm mat.Dense
	m.Mul(r1, s2)
	mm.Mul(&m, r1)
	n := len(mu1)
	sym := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, (mm.At(i, j)+mm.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, false) {
		return 0, fmt.Errorf("eigendecomposition failed")
	}
	var trSqrt float64
	for _, v := range eig.Values(nil) {
		if v > 0 {
			trSqrt += math.Sqrt(v)
		}
	}
	return d2 + mat.Trace(s1) + mat.Trace(s2) - 2*trSqrt, nil
}

// moments is the mean and the sample covariance of x, the covariance as
// one rank-n update of the centred data (a BLAS syrk, not a loop per entry:
// 2,000 features of 256 took most of evaluate's time).
func moments(x [][]float32) ([]float64, *mat.SymDense) {
	n, d := len(x), len(x[0])
	mu := make([]float64, d)
	for _, v := range x {
		for j, e := range v {
			mu[j] += float64(e)
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	centred := mat.NewDense(n, d, nil)
	for i, v := range x {
		row := centred.RawRowView(i)
		for j, e := range v {
			row[j] = float64(e) - mu[j]
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymRankK(cov, 1/float64(n-1), centred.T())
	return mu, cov
}

func sqrtSym(s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("eigendecomposition failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	n := len(vals)
	diag := mat.NewDense(n, n, nil)
	for i, v := range vals {
		diag.Set(i, i, math.Sqrt(math.Max(v, 0)))
	}
	var tmp, out mat.Dense
	tmp.Mul(&vecs, diag)
	out.Mul(&tmp, vecs.T())
	return &out, nil
}

// KernelDistance is the kernel inception distance's estimator on the
// classifier's features: the unbiased squared maximum mean discrepancy with
// the cubic polynomial kernel k(x, y) = (x·y/d + 1)³ (Bińkowski et al.,
// 2018). A Fréchet distance from n samples carries a bias that grows as n
// shrinks (here 500 real test digits sit at 16 from the others, 2000 at
// about 2); this estimator has none, so two sets from one distribution give
// about 0 at any n and figures at different n compare.
func KernelDistance(a, b [][]float32) (float64, error) {
	if len(a) < 2 || len(b) < 2 {
		return 0, fmt.Errorf("need at least two samples in each set")
	}
	d := len(a[0])
	for _, set := range [][][]float32{a, b} {
		for i, v := range set {
			if len(v) != d {
				return 0, fmt.Errorf("feature vector %d has %d values, not %d", i, len(v), d)
			}
		}
	}
	A, B := denseOf(a), denseOf(b)
	n, m := float64(len(a)), float64(len(b))
	aa := kernelSum(A, A, d, true) / (n * (n - 1))
	bb := kernelSum(B, B, d, true) / (m * (m - 1))
	ab := kernelSum(A, B, d, false) / (n * m)
	return aa + bb - 2*ab, nil
}

func denseOf(x [][]float32) *mat.Dense {
	out := mat.NewDense(len(x), len(x[0]), nil)
	for i, v := range x {
		for j, e := range v {
			out.Set(i, j, float64(e))
		}
	}
	return out
}

// kernelSum is Σ k(x_i, y_j) over all pairs, without i = j when
// offDiagonal (x and y then are the same set). Rows of x go in blocks so
// that the Gram matrix is never whole (8000 reference digits would make it
// half a gigabyte).
func kernelSum(x, y *mat.Dense, d int, offDiagonal bool) float64 {
	const block = 256
	rx, _ := x.Dims()
	ry, _ := y.Dims()
	var sum float64
	var g mat.Dense
	for lo := 0; lo < rx; lo += block {
		hi := min(lo+block, rx)
		g.Reset()
		g.Mul(x.Slice(lo, hi, 0, d), y.T())
		for i := lo; i < hi; i++ {
			for j := 0; j < ry; j++ {
				if offDiagonal && i == j {
					continue
				}
				k := g.At(i-lo, j)/float64(d) + 1
				sum += float64(k * k * k)
			}
		}
	}
	return sum
}
