"""Failed sign-in counts: in process (embedded default), or in Redis shared by every process."""
