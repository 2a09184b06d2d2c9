package cpu

import "testing"

func TestFill(t *testing.T) {
	for n := 0; n < 70; n++ {
		row := make([]float32, n+2)
		row[0], row[n+1] = -1, -1
		fill(row[1:n+1], 2.5)
		for i, v := range row {
			want := float32(2.5)
			if i == 0 || i == n+1 {
				want = -1
			}
			if v != want {
				t.Fatalf("fill of %d: element %d is %v, want %v", n, i, v, want)
			}
		}
	}
}
