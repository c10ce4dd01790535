"""`protoforge gen --watch`: `events` turns watchfiles' reports into batches of saved paths,
`session` keeps gen's state in memory and regenerates what a batch touched."""
