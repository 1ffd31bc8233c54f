"""Media kept for sending: an ImageStore for the bytes, signed URLs to serve them."""
