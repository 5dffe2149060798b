// The reference seed's validate in Go: a *raw* export (docs/abi.md §3),
// `validate(inputPtr, inputLen) int32`, whose input is the first argument.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o validate.wasm .
// Call:  WASM.CALL validate '{"email": "test@example.com"}'   -> {"valid":true}
// Capabilities: time (the Go runtime reads the clock at start-up).
package main

import (
	"encoding/json"
	"strings"

	"github.com/ferrite-db/ferrite/sdk/go/ferrite"
)

//go:wasmexport validate
func validate(inputPtr, inputLen int32) int32 {
	input := ferrite.ReadBytes(inputPtr, inputLen)

	var data map[string]interface{}
	if err := json.Unmarshal(input, &data); err != nil {
		ferrite.Error("ERR invalid JSON input: " + err.Error())
		return 1
	}

	email, _ := data["email"].(string)
	at := strings.Index(email, "@")
	valid := at > 0 && strings.Contains(email[at+1:], ".")

	result, _ := json.Marshal(map[string]bool{"valid": valid})
	ferrite.Return(result)
	return 0
}

func main() {}
