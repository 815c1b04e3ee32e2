package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bellhop/bellhop"
)

// GetBooking reads a booking of property pid.
func (a *access) GetBooking(ctx context.Context, pid, bid string) (*bellhop.Booking, error) {
	b, err := scanBooking(a.queryRow(ctx, "get-booking", pid, bid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bellhop.Errorf(bellhop.ENotFound, "Booking %q of property %q not found.", bid, pid)
	}
	if err != nil {
		return nil, fmt.Errorf("read booking %q of property %q: %w", bid, pid, err)
	}
	return b, nil
}

// SaveBooking stores a booking unless the stored one is as new or newer (by UpdatedAt), and
// reports whether it was stored. The first moment the booking was seen non-guaranteed is kept
// and written back to b, as is its revision.
func (a *access) SaveBooking(ctx context.Context, b *bellhop.Booking, receivedAt time.Time) (bool, error) {
	var seen sql.NullInt64
	err := a.queryRow(ctx, "upsert-booking", bookingArgs(b, receivedAt)...).Scan(&b.Revision, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if isForeignKeyViolation(err) {
		return false, propertyNotFound(b.PropertyID)
	}
	if err != nil {
		return false, fmt.Errorf("save booking %q of property %q: %w", b.ID, b.PropertyID, err)
	}
	b.SeenNonGuaranteedAt = timePtr(seen)
	return true, nil
}

// bookingArgs are upsert-booking's parameters for b, whose times it brings to what the
// database keeps.
func bookingArgs(b *bellhop.Booking, receivedAt time.Time) []any {
	b.CreatedAt, b.UpdatedAt = dbTime(b.CreatedAt), dbTime(b.UpdatedAt)
	b.GuaranteeDeadline = dbTimePtr(b.GuaranteeDeadline)
	return []any{b.PropertyID, b.ID, string(b.Status), string(b.Guarantee),
		nullMicros(b.GuaranteeDeadline), b.Arrival.String(), b.Departure.String(), toMicros(b.CreatedAt),
		toMicros(b.UpdatedAt), nullMicros(b.SeenNonGuaranteedAt), b.Guest.Name, b.Guest.Phone, b.Guest.Email,
		b.Guest.Language, toMicros(receivedAt)}
}

// CancelBooking marks a booking cancelled and reports whether it changed (false: it was
// cancelled already). A booking that does not exist is not found.
func (a *access) CancelBooking(ctx context.Context, pid, bid string, at time.Time) (bool, error) {
	var rev int
	err := a.queryRow(ctx, "cancel-booking", toMicros(at), pid, bid).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := a.GetBooking(ctx, pid, bid); gerr != nil {
			return false, gerr
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cancel booking %q of property %q: %w", bid, pid, err)
	}
	return true, nil
}

// ListBookingsDeparting lists a property's bookings that depart on or after day, by arrival.
func (a *access) ListBookingsDeparting(ctx context.Context, pid string, day bellhop.Date) ([]*bellhop.Booking, error) {
	rows, err := a.queryRows(ctx, "list-bookings-departing", pid, day.String())
	if err != nil {
		return nil, fmt.Errorf("list bookings of property %q: %w", pid, err)
	}
	list, err := collect(rows, scanBooking)
	if err != nil {
		return nil, fmt.Errorf("list bookings of property %q: %w", pid, err)
	}
	return list, nil
}

func scanBooking(row scanner) (*bellhop.Booking, error) {
	var b bellhop.Booking
	var status, guarantee, arrival, departure string
	var deadline, seen sql.NullInt64
	var created, updated int64
	if err := row.Scan(&b.PropertyID, &b.ID, &status, &guarantee, &deadline, &arrival, &departure, &created,
		&updated, &seen, &b.Guest.Name, &b.Guest.Phone, &b.Guest.Email, &b.Guest.Language, &b.Revision); err != nil {
		return nil, err
	}
	var err error
	if b.Arrival, err = bellhop.ParseDate(arrival); err != nil {
		return nil, fmt.Errorf("booking %q arrival: %w", b.ID, err)
	}
	if b.Departure, err = bellhop.ParseDate(departure); err != nil {
		return nil, fmt.Errorf("booking %q departure: %w", b.ID, err)
	}
	b.Status, b.Guarantee = bellhop.BookingStatus(status), bellhop.Guarantee(guarantee)
	b.GuaranteeDeadline, b.SeenNonGuaranteedAt = timePtr(deadline), timePtr(seen)
	b.CreatedAt, b.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &b, nil
}
