module github.com/gadgetrt/gadgetrt/bindings/go

go 1.23
