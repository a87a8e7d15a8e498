"""Shards across `run` replicas: each location (target, or region) is one shard, held by one
replica through its own DynamoDB lease; which replica should hold it is decided by a balanced,
sticky rendezvous hashing over the replicas that are alive, so a replica joining or leaving moves
only its share."""
