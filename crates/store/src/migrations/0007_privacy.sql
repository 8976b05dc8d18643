-- The text scan's inputs and the author's decisions, per case. Both stay on this laptop: they are
-- never part of what is shared.

-- Names the author listed for this case (the patient's, relatives'), looked for in its text.
CREATE TABLE case_deny_names (
    case_id  BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    PRIMARY KEY (case_id, name)
);

-- Findings the author declared "not an identifier": the kind and the text that was found.
CREATE TABLE case_acknowledged (
    case_id  BLOB NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    matched  TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, matched)
);
