package gadgetrt

import (
	"fmt"
)

// Code is a stable gadgetrt error code (GRT_ERR_*).
type Code uint32

// Error codes (GRT_ERR_*). Values are stable and never reused.
const (
	CodeNullParameter    Code = 1
	CodeInvalidArgument  Code = 2
	CodeInvalidUTF8      Code = 3
	CodeInsufficientSize Code = 4
	CodeNotFound         Code = 5
	CodeWrongKind        Code = 6
	CodeBadState         Code = 7
	CodeBusy             Code = 8
	CodePanic            Code = 9
	CodeAlreadyUsed      Code = 10
	CodeIO               Code = 11
	CodeWasmLoad         Code = 12
	CodeGuest            Code = 13
	CodeABI              Code = 14
	CodeImage            Code = 15
	CodeEBPF             Code = 16
	CodeParam            Code = 17
	CodeTimeout          Code = 18
	CodeUnsupported      Code = 19
	CodeInternal         Code = 20
	CodeSignature        Code = 21
)

// String returns the code's name from the library (grt_error_code_name) without the
// GRT_ERR_ prefix, e.g. "NOT_FOUND"; "OK" for 0 and "UNKNOWN(<n>)" for codes this library
// version does not know.
func (c Code) String() string {
	n := codeName(c)
	if n == "UNKNOWN" {
		return fmt.Sprintf("UNKNOWN(%d)", uint32(c))
	}
	return n
}

// Error is an error reported by libgadgetrt (or by this package, with a matching code).
//
// Match a kind of error with errors.Is(err, gadgetrt.ErrNotFound) (any *Error with the same
// Code matches a sentinel), or get at the details with errors.As(err, &gerr).
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "gadgetrt: " + e.Code.String()
	}
	return fmt.Sprintf("gadgetrt: %s [%s]", e.Message, e.Code)
}

// Is reports whether target is a sentinel (an *Error without message) with the same code,
// or an identical *Error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Sentinel errors, one per code, for errors.Is.
var (
	ErrNullParameter    = &Error{Code: CodeNullParameter}
	ErrInvalidArgument  = &Error{Code: CodeInvalidArgument}
	ErrInvalidUTF8      = &Error{Code: CodeInvalidUTF8}
	ErrInsufficientSize = &Error{Code: CodeInsufficientSize}
	ErrNotFound         = &Error{Code: CodeNotFound}
	ErrWrongKind        = &Error{Code: CodeWrongKind}
	ErrBadState         = &Error{Code: CodeBadState}
	ErrBusy             = &Error{Code: CodeBusy}
	ErrPanic            = &Error{Code: CodePanic}
	ErrAlreadyUsed      = &Error{Code: CodeAlreadyUsed}
	ErrIO               = &Error{Code: CodeIO}
	ErrWasmLoad         = &Error{Code: CodeWasmLoad}
	ErrGuest            = &Error{Code: CodeGuest}
	ErrABI              = &Error{Code: CodeABI}
	ErrImage            = &Error{Code: CodeImage}
	ErrEBPF             = &Error{Code: CodeEBPF}
	ErrParam            = &Error{Code: CodeParam}
	ErrTimeout          = &Error{Code: CodeTimeout}
	ErrUnsupported      = &Error{Code: CodeUnsupported}
	ErrInternal         = &Error{Code: CodeInternal}
	ErrSignature        = &Error{Code: CodeSignature}
)

// ErrClosed is returned when a closed Runtime or Gadget is used. It matches ErrBadState.
var ErrClosed = &Error{Code: CodeBadState, Message: "use of a closed gadgetrt object"}

// ErrEventExpired is returned when an *Event is used after its callback returned. It
// matches ErrBadState.
var ErrEventExpired = &Error{Code: CodeBadState, Message: "event used outside its callback"}

// ErrStop can be returned by an event callback to stop dispatching without an error: Poll
// returns the number of events dispatched so far and a nil error; the remaining events stay
// queued.
var ErrStop = fmt.Errorf("gadgetrt: stop dispatching")
