-- Partner accounts: users made for partner agencies' TAXII clients. They authenticate like
-- anyone else but are refused by the console and the JSON API, which show every case.
ALTER TABLE auth_users ADD COLUMN partner INTEGER NOT NULL DEFAULT 0;
