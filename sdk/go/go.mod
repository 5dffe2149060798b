module github.com/ferrite-db/ferrite/sdk/go/ferrite

go 1.24
