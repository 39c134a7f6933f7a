-- Stored tree of the data-use log (issue 15): the hash of every complete subtree above the
-- leaves, (level, idx) covering leaves [idx·2^level, (idx+1)·2^level), level ≥ 1 (level 0 is
-- `data_use.leaf_hash`). Filled when a checkpoint is signed, in the checkpoint's transaction,
-- up to the checkpoint's size; `transparency_nodes_head.filled` is that size. Inclusion and
-- consistency proofs then read O(log n) rows instead of every leaf. Append-only like the log.

CREATE TABLE transparency_node (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TRIGGER transparency_node_no_update BEFORE UPDATE ON transparency_node
BEGIN SELECT RAISE(ABORT, 'transparency_node is append-only'); END;
CREATE TRIGGER transparency_node_no_delete BEFORE DELETE ON transparency_node
BEGIN SELECT RAISE(ABORT, 'transparency_node is append-only'); END;

CREATE TABLE transparency_nodes_head (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    filled INTEGER NOT NULL
);
INSERT INTO transparency_nodes_head (id, filled) VALUES (1, 0);
