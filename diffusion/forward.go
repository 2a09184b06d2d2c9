package diffusion

import "fmt"

// QSample draws x_t from q(x_t | x_0) = N(√ᾱ_t·x_0, (1−ᾱ_t)·I) given the
// standard normal eps: dst = √ᾱ_t·x0 + √(1−ᾱ_t)·eps.
func QSample(s *Schedule, t int, x0, eps, dst []float32) error {
	if err := s.check(t); err != nil {
		return err
	}
	if len(x0) != len(dst) || len(eps) != len(dst) {
		return fmt.Errorf("%w: x0 %d, eps %d, dst %d elements", errShape, len(x0), len(eps), len(dst))
	}
	a, b := s.SqrtAlphaBar(t), s.SqrtOneMinusAlphaBar(t)
	for i := range dst {
		dst[i] = mul(a, x0[i]) + mul(b, eps[i])
	}
	return nil
}

// PredictX0 inverts q for a predicted noise: dst = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t.
func PredictX0(s *Schedule, t int, xt, eps, dst []float32) error {
	if err := s.check(t); err != nil {
		return err
	}
	if len(xt) != len(dst) || len(eps) != len(dst) {
		return fmt.Errorf("%w: x_t %d, eps %d, dst %d elements", errShape, len(xt), len(eps), len(dst))
	}
	c := newCoeffs(s.AlphaBar(t), 1)
	for i := range dst {
		dst[i] = (xt[i] - mul(c.sqrtBeta, eps[i])) / c.sqrtAbar
	}
	return nil
}
