package app

import (
	"fmt"
	"strings"

	"github.com/ddpmstudio/ddpmstudio/studio"
)

// updateEstimate says under the sampler how long Generate would take now:
// studio's estimate from the speed measured on this machine (a probe of
// the backend until a run has been timed). A DDPM run over two minutes
// also says what DDIM with 50 steps would take.
func (s *Window) updateEstimate() {
	if s.sess == nil || s.sampler.estimate == nil {
		return
	}
	r, err := s.Recipe()
	if err != nil {
		s.sampler.estimate.SetText("")
		return
	}
	e, err := s.sess.Estimate(r, r.Count) // the window draws a recipe in one batch
	if err != nil {
		s.sampler.estimate.SetText("measuring this machine's speed…")
		return
	}
	s.sampler.estimate.SetText(estimateText(e, s.info.Backend))
}

// estimateText is an estimate as the sampler card shows it.
func estimateText(e studio.Estimate, backend string) string {
	basis := "measured"
	if e.Basis == "probe" {
		basis = "probed"
	}
	t := fmt.Sprintf("about %s on the %s (%d passes at %.0f GFLOP/s, %s)", studio.Duration(e.Seconds), strings.ToUpper(backend), e.Passes, e.Rate, basis)
	if e.DDIM50 > 0 {
		t += fmt.Sprintf(" · DDIM with %d steps would take about %s", studio.DDIMSuggestSteps, studio.Duration(e.DDIM50))
	}
	return t
}
