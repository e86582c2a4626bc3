INSERT INTO user (username, password)
VALUES
  ('test', 'scrypt:16384:8:1$D9xXcFCBtzCgG3BL$cf35e456bab408fcd240e96ff09c4d02ed5797c99207627fda2f5040943f7bc85780d2c4bf575f1fa754d66210bc7d6097fc9a5a6bf3d833876f688e20a6b923'),
  ('other', 'scrypt:16384:8:1$n6WybNfytuZu1QdD$8b89dfab542b4947fe763d2c5dbd0f2c7ed09f936d1979db9eb5001afe9c7431386673aa54e562c2f569098f9f8da3ea3366f215dda3986aa20568d72c702191');

INSERT INTO post (title, body, author_id, created)
VALUES
  ('test title', 'test' || x'0a' || 'body', 1, '2018-01-01 00:00:00');
