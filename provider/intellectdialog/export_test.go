package intellectdialog

// SplitPhone exposes splitPhone to the external tests.
var SplitPhone = splitPhone
