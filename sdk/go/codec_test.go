package ferrite

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestListRoundTrip(t *testing.T) {
	items := [][]byte{{}, []byte("a"), {0, 0xff}}
	enc := EncodeList(items)
	if !bytes.Equal(enc, []byte("\x03\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00a\x02\x00\x00\x00\x00\xff")) {
		t.Fatalf("encoding %q", enc)
	}
	dec, err := DecodeList(enc)
	if err != nil || !reflect.DeepEqual(dec, items) {
		t.Fatalf("decoded %q %v", dec, err)
	}
	for _, bad := range []string{"", "\x01\x00\x00\x00\x05\x00\x00\x00ab", "\x00\x00\x00\x00x", "\xff\xff\xff\xff"} {
		if _, err := DecodeList([]byte(bad)); err != ErrMalformedList {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestReplies(t *testing.T) {
	r, err := ParseReply([]byte("*3\r\n:1\r\n$1\r\nx\r\n$-1\r\n"))
	want := Reply{Kind: KindArray, Array: []Reply{{Kind: KindInteger, Int: 1}, {Kind: KindBulk, Str: "x"}, {Kind: KindNil}}}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("%+v %v", r, err)
	}
	if got := string(want.Encode()); got != "*3\r\n:1\r\n$1\r\nx\r\n$-1\r\n" {
		t.Fatalf("encode %q", got)
	}
	for _, bad := range []string{"", "+OK", ":x\r\n", "$5\r\nab\r\n", "*2\r\n:1\r\n", "?\r\n", ":1\r\n:2\r\n", "*1000000\r\n"} {
		if _, err := ParseReply([]byte(bad)); err != ErrMalformedReply {
			t.Errorf("%q: %v", bad, err)
		}
	}
	deep := strings.Repeat("*1\r\n", RESPDepthMax+2) + ":1\r\n"
	if _, err := ParseReply([]byte(deep)); err != ErrMalformedReply {
		t.Errorf("deep: %v", err)
	}
}

func TestHTTPResponse(t *testing.T) {
	r, err := parseHTTPResponse(EncodeList([][]byte{[]byte("200"), []byte("hi"), []byte("a"), []byte("b")}))
	if err != nil || r.Status != 200 || string(r.Body) != "hi" || r.Headers[0] != [2]string{"a", "b"} {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := parseHTTPResponse(EncodeList([][]byte{[]byte("x"), nil})); err == nil {
		t.Fatal("bad status accepted")
	}
}
