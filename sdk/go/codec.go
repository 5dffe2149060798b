package ferrite

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// ResultBytesMax is the largest result the host hands over (the ABI's bulk limit).
const ResultBytesMax = 512 << 20

// ListItemsMax bounds the items of one decoded list or RESP array.
const ListItemsMax = 16 << 20

// RESPDepthMax bounds the nesting of RESP arrays accepted by [ParseReply].
const RESPDepthMax = 64

// ErrMalformedList reports a list-encoded buffer that is truncated or has trailing bytes.
var ErrMalformedList = errors.New("ERR malformed list encoding")

// ErrMalformedReply reports a RESP reply that cannot be parsed.
var ErrMalformedReply = errors.New("ERR malformed RESP reply")

// EncodeList encodes items in the ABI's list encoding: u32 LE count, then
// per item a u32 LE length and the bytes.
func EncodeList(items [][]byte) []byte {
	n := 4
	for _, it := range items {
		n += 4 + len(it)
	}
	out := make([]byte, 0, n)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(items)))
	for _, it := range items {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(it)))
		out = append(out, it...)
	}
	return out
}

// DecodeList decodes a list-encoded buffer; the whole buffer must be used.
func DecodeList(b []byte) ([][]byte, error) {
	if len(b) < 4 {
		return nil, ErrMalformedList
	}
	count := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if count > ListItemsMax || int(count) > len(b)/4 {
		return nil, ErrMalformedList
	}
	out := make([][]byte, 0, count)
	for i := uint32(0); i < count; i++ {
		if len(b) < 4 {
			return nil, ErrMalformedList
		}
		n := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, ErrMalformedList
		}
		out = append(out, b[:n:n])
		b = b[n:]
	}
	if len(b) != 0 {
		return nil, ErrMalformedList
	}
	return out, nil
}

// Kind is the type of a [Reply].
type Kind int

// Reply kinds (RESP2).
const (
	KindStatus Kind = iota
	KindError
	KindInteger
	KindBulk
	KindNil
	KindArray
)

// Reply is one RESP2 value.
type Reply struct {
	Kind  Kind
	Str   string  // status text, error text or bulk bytes
	Int   int64   // integer value
	Array []Reply // array elements
}

// Encode renders r as one RESP2 frame (for [ReturnRESP]).
func (r Reply) Encode() []byte { return r.appendTo(nil) }

func (r Reply) appendTo(out []byte) []byte {
	line := func(tag byte, s string) {
		out = append(out, tag)
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '\r' || c == '\n' {
				c = ' '
			}
			out = append(out, c)
		}
		out = append(out, '\r', '\n')
	}
	switch r.Kind {
	case KindStatus:
		line('+', r.Str)
	case KindError:
		line('-', r.Str)
	case KindInteger:
		line(':', strconv.FormatInt(r.Int, 10))
	case KindBulk:
		line('$', strconv.Itoa(len(r.Str)))
		out = append(out, r.Str...)
		out = append(out, '\r', '\n')
	case KindNil:
		out = append(out, "$-1\r\n"...)
	case KindArray:
		line('*', strconv.Itoa(len(r.Array)))
		for _, it := range r.Array {
			out = it.appendTo(out)
		}
	}
	return out
}

// ParseReply parses exactly one RESP2 reply filling b.
func ParseReply(b []byte) (Reply, error) {
	pos := 0
	r, err := parseAt(b, &pos, 0)
	if err != nil {
		return Reply{}, err
	}
	if pos != len(b) {
		return Reply{}, ErrMalformedReply
	}
	return r, nil
}

func parseAt(b []byte, pos *int, depth int) (Reply, error) {
	if depth > RESPDepthMax || *pos >= len(b) {
		return Reply{}, ErrMalformedReply
	}
	tag := b[*pos]
	*pos++
	head, err := readLine(b, pos)
	if err != nil {
		return Reply{}, err
	}
	switch tag {
	case '+':
		return Reply{Kind: KindStatus, Str: head}, nil
	case '-':
		return Reply{Kind: KindError, Str: head}, nil
	case ':':
		v, err := strconv.ParseInt(head, 10, 64)
		if err != nil {
			return Reply{}, ErrMalformedReply
		}
		return Reply{Kind: KindInteger, Int: v}, nil
	case '$':
		n, err := strconv.ParseInt(head, 10, 64)
		if err != nil || n < -1 || n > ResultBytesMax {
			return Reply{}, ErrMalformedReply
		}
		if n == -1 {
			return Reply{Kind: KindNil}, nil
		}
		end := *pos + int(n)
		if end+2 > len(b) || b[end] != '\r' || b[end+1] != '\n' {
			return Reply{}, ErrMalformedReply
		}
		s := string(b[*pos:end])
		*pos = end + 2
		return Reply{Kind: KindBulk, Str: s}, nil
	case '*':
		n, err := strconv.ParseInt(head, 10, 64)
		if err != nil || n < -1 || n > ListItemsMax || n > int64((len(b)-*pos)/3) {
			return Reply{}, ErrMalformedReply
		}
		if n == -1 {
			return Reply{Kind: KindNil}, nil
		}
		items := make([]Reply, 0, n)
		for i := int64(0); i < n; i++ {
			it, err := parseAt(b, pos, depth+1)
			if err != nil {
				return Reply{}, err
			}
			items = append(items, it)
		}
		return Reply{Kind: KindArray, Array: items}, nil
	}
	return Reply{}, ErrMalformedReply
}

func readLine(b []byte, pos *int) (string, error) {
	for i := *pos; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			s := string(b[*pos:i])
			*pos = i + 2
			return s, nil
		}
	}
	return "", ErrMalformedReply
}

// HTTPResponse is the result of [HTTP].
type HTTPResponse struct {
	Status  int
	Body    []byte
	Headers [][2]string
}

func parseHTTPResponse(b []byte) (HTTPResponse, error) {
	bad := errors.New("ERR malformed http response")
	items, err := DecodeList(b)
	if err != nil || len(items) < 2 || len(items)%2 != 0 {
		return HTTPResponse{}, bad
	}
	status, err := strconv.Atoi(string(items[0]))
	if err != nil {
		return HTTPResponse{}, bad
	}
	resp := HTTPResponse{Status: status, Body: items[1]}
	for i := 2; i+1 < len(items); i += 2 {
		resp.Headers = append(resp.Headers, [2]string{string(items[i]), string(items[i+1])})
	}
	return resp, nil
}
