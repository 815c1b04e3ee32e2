package bellhop

import "time"

// Mapping links a staff member to the provider operator whose chats they open. Several staff
// may share one operator.
type Mapping struct {
	PropertyID string `json:"property_id"`
	StaffID    string `json:"staff_id"`
	// Provider is the integration kind the operator belongs to, e.g. "intellectdialog".
	Provider     string    `json:"provider"`
	OperatorID   string    `json:"operator_id"`
	OperatorName string    `json:"operator_name"`
	UpdatedAt    time.Time `json:"updated_at"`
	// UpdatedBy says who made the link: "token:<id>" for the API.
	UpdatedBy string `json:"updated_by"`
}

// OperatorRef names an operator as it was at the time of a change.
type OperatorRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MappingChange is one entry of the audit trail: who changed a staff member's link, when,
// and from which operator to which (nil: none).
type MappingChange struct {
	ID         int64        `json:"id"`
	PropertyID string       `json:"property_id"`
	StaffID    string       `json:"staff_id"`
	Provider   string       `json:"provider"`
	Old        *OperatorRef `json:"old"`
	New        *OperatorRef `json:"new"`
	Actor      string       `json:"actor"`
	At         time.Time    `json:"at"`
}

// StaffMapping is an active staff member with their link, nil when none is selected.
type StaffMapping struct {
	Staff   *Staff
	Mapping *Mapping
}
