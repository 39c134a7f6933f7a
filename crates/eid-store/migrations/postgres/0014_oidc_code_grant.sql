-- A refresh reads its grant's code details by grant id: without this index every refresh
-- scanned the whole oidc_code table (found by a profile of bench/oidc-token.sh).
CREATE INDEX oidc_code_grant ON oidc_code (grant_id);
