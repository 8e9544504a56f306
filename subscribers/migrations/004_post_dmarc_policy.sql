-- The DMARC policy the author's From domain published when the post arrived:
-- '' (none published, or not checked), 'none', 'quarantine' or 'reject'. List copies of
-- posts from 'quarantine' and 'reject' domains get the DMARC-safe From rewrite.
ALTER TABLE posts ADD COLUMN dmarc_policy TEXT NOT NULL DEFAULT '';
