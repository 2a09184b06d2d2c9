package studio

// KnownModel is a pixel-space DDPM on the Hub that the studio opens: what
// the window's "Open from the Hub" list offers.
type KnownModel struct {
	Repo       string
	Resolution int     // pixels a side
	ParamsM    float64 // millions of parameters
	DownloadMB int     // weights, as the Hub serves them
	About      string
}

// KnownModels are the diffusers DDPMs of Ho et al. (google/ddpm-*).
var KnownModels = []KnownModel{
	{"google/ddpm-cifar10-32", 32, 35.7, 143, "CIFAR-10"},
	{"google/ddpm-ema-cifar10-32", 32, 35.7, 143, "CIFAR-10, EMA weights"},
	{"google/ddpm-celebahq-256", 256, 113.7, 455, "faces (CelebA-HQ)"},
	{"google/ddpm-church-256", 256, 113.7, 455, "churches (LSUN)"},
	{"google/ddpm-bedroom-256", 256, 113.7, 455, "bedrooms (LSUN)"},
	{"google/ddpm-cat-256", 256, 113.7, 455, "cats (LSUN)"},
}

// Cached reports whether repo's main revision is in the Hugging Face cache.
func Cached(repo string) bool {
	_, _, err := ResolveCached(HubCache(), repo, "main")
	return err == nil
}
