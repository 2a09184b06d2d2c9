package diffusion

import "math"

// The first six values of FillNormal(seed 42, step 1, draw 0, sample 0),
// recorded when the stream was defined. Recipes name seeds, so a change
// here would silently change every shared picture.
var (
	goldenNoise0 = math.Float32frombits(0xbfd167b9) // -1.6359779
	goldenNoise1 = math.Float32frombits(0x3db96ac4) // 0.09053567
	goldenNoise2 = math.Float32frombits(0xbfcb000b) // -1.5859388
	goldenNoise3 = math.Float32frombits(0x3f6a2dc3) // 0.91476077
	goldenNoise4 = math.Float32frombits(0xbfd795a2) // -1.6842539
	goldenNoise5 = math.Float32frombits(0x3f8c3945) // 1.0954977
)
