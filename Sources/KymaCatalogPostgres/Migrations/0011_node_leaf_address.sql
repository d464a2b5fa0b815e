-- Where a node serves Kyma's internal gRPC API (the leaf service), when it does: coordinators
-- place scan units on the live nodes that have one.
ALTER TABLE nodes ADD COLUMN leaf_address text;
