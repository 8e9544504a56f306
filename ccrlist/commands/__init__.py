"""The `ccrlist` command-line commands (click); each turns domain errors into clean messages."""
