"""Limits shared by the filter forms (pure constants, no Django)."""

# A filter's text box is sent in the address (GET). 200 characters stay far below any server's
# request-line limit even percent-encoded (9 bytes a character at worst), so a long paste gets a
# form error instead of the server's bare "414 Request-URI Too Long".
FILTER_MAX = 200
