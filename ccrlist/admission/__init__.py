"""Who gets a connection to `ccrlist serve`: limits per client and in all, idle clients let
go, floods counted in a few log lines, and the open-files limit the process runs under."""
