-- Stored tree of the data-use log (issue 15): the hash of every complete subtree above the
-- leaves, (level, idx) covering leaves [idx·2^level, (idx+1)·2^level), level ≥ 1 (level 0 is
-- `data_use.leaf_hash`). Filled when a checkpoint is signed, in the checkpoint's transaction,
-- up to the checkpoint's size; `transparency_nodes_head.filled` is that size. Inclusion and
-- consistency proofs then read O(log n) rows instead of every leaf. Append-only like the log.

CREATE TABLE transparency_node (
    level bigint NOT NULL,
    idx   bigint NOT NULL,
    hash  bytea NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TRIGGER transparency_node_append_only
    BEFORE UPDATE OR DELETE ON transparency_node
    FOR EACH ROW EXECUTE FUNCTION eid_append_only();
CREATE TRIGGER transparency_node_no_truncate
    BEFORE TRUNCATE ON transparency_node
    FOR EACH STATEMENT EXECUTE FUNCTION eid_append_only();

CREATE TABLE transparency_nodes_head (
    id     bigint PRIMARY KEY CHECK (id = 1),
    filled bigint NOT NULL
);
INSERT INTO transparency_nodes_head (id, filled) VALUES (1, 0);
