"""Settings shared by the list server and the newsletter publisher."""
