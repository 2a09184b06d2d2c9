module github.com/ddpmstudio/ddpmstudio

go 1.26.0

require (
	github.com/disintegration/imaging v1.6.2 // indirect
	golang.org/x/image v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
)
