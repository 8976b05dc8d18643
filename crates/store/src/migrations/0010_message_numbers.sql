-- Each member numbers its own application messages in a circle: the last number this profile
-- gave (sender = its own account) and the last it saw from each other member. A gap in what
-- arrives from a member says the relay withheld a message of theirs.
CREATE TABLE message_numbers (
    circle BLOB NOT NULL, sender TEXT NOT NULL, last INTEGER NOT NULL,
    PRIMARY KEY (circle, sender));
