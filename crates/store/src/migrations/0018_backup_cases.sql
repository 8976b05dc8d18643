-- Schema 18: the cases the last backup run holds, so a case erased here counts as "still in the
-- backup until its next run" only when it is in it (one made and erased in between never was).
CREATE TABLE backup_cases (
    case_id     BLOB PRIMARY KEY
);
INSERT INTO backup_cases (case_id) SELECT id FROM cases WHERE EXISTS (SELECT 1 FROM backup_state);
