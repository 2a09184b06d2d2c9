// Package locale is DDPM Studio's stand-in for github.com/jeandeaual/go-locale,
// put in place by a replace directive in the main go.mod. Fyne asks it for
// the user's locales in an init function; the original reports "C.UTF-8"
// (the default of Debian and Docker images) as the tag "C", which Fyne then
// fails to parse and logs as an error on every start of the program — a
// stray line before every command-line error message. This version reads
// the same environment variables and treats C and POSIX in any encoding as
// "no localisation". DDPM Studio's interface is English only, so the
// platform lookups of the original (macOS, Windows, Android) are not needed.
package locale

import (
	"os"
	"strings"
)

// GetLocales returns the user's preferred locales as BCP 47 tags
// ("en-US"), most preferred first; nil when the environment asks for none.
func GetLocales() ([]string, error) {
	value := ""
	for _, env := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if value = os.Getenv(env); value != "" {
			break
		}
	}
	if isPlain(value) {
		return nil, nil
	}
	list := []string{value}
	if l := os.Getenv("LANGUAGE"); l != "" {
		list = strings.Split(l, ":")
	}
	var tags []string
	for _, v := range list {
		if isPlain(v) {
			continue
		}
		tags = append(tags, tag(v))
	}
	return tags, nil
}

// GetLocale returns the most preferred locale, or "" for none.
func GetLocale() (string, error) {
	tags, err := GetLocales()
	if len(tags) == 0 {
		return "", err
	}
	return tags[0], err
}

// isPlain reports whether a POSIX locale name means "no localisation".
func isPlain(v string) bool {
	base := tag(v)
	return base == "" || base == "C" || base == "POSIX"
}

// tag turns "en_US.UTF-8@euro" into "en-US".
func tag(v string) string {
	if i := strings.IndexAny(v, ".@"); i >= 0 {
		v = v[:i]
	}
	return strings.ReplaceAll(v, "_", "-")
}
