module example.com/ferrite-examples/validate

go 1.24

require github.com/ferrite-db/ferrite/sdk/go/ferrite v0.0.0

replace github.com/ferrite-db/ferrite/sdk/go/ferrite => ../../../sdk/go
