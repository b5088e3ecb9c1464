"""What the front ends share below HTTP and gRPC: reserving ports early, closing listeners cleanly,
starting request handlers eagerly."""
