-- Demo data for scripts/demo.sh, loaded after compat-tests/fixtures/schema.sql
-- into an empty database. Only columns of the fixture schema are named.

SET NAMES utf8mb4;

INSERT INTO settings
  (company_id, config_current_database_version, config_ticket_prefix,
   config_ticket_next_number, config_timezone)
VALUES
  (1, '2.4.4', 'TCK-', 4, 'America/New_York');

-- Agents (user_type 1, active). The password hashes are placeholders.
INSERT INTO users
  (user_id, user_name, user_email, user_password, user_type, user_status,
   user_created_at, user_role_id)
VALUES
  (1, 'Oracle Admin', 'admin@example.com', '$2y$10$demo.not.a.real.hash.................................', 1, 1, '2026-05-01 08:00:00', 3),
  (2, 'Tess Tech', 'tess@example.com', '$2y$10$demo.not.a.real.hash.................................', 1, 1, '2026-05-01 08:05:00', 2);

INSERT INTO clients
  (client_id, client_name, client_currency_code, client_net_terms, client_created_at)
VALUES
  (1, 'Acme Corp', 'USD', 30, '2026-05-01 09:00:00'),
  (2, 'Globex', 'USD', 30, '2026-05-01 09:10:00');

INSERT INTO contacts
  (contact_id, contact_name, contact_email, contact_created_at, contact_client_id)
VALUES
  (1, 'Wile E. Coyote', 'wile@acme.example', '2026-05-01 09:01:00', 1),
  (2, 'Road Runner', 'beep@acme.example', '2026-05-01 09:02:00', 1),
  (3, 'Hank Scorpio', 'hank@globex.example', '2026-05-01 09:11:00', 2);

-- ITFlow's seeded statuses: 1 and 5 are system-managed.
INSERT INTO ticket_statuses
  (ticket_status_id, ticket_status_name, ticket_status_color,
   ticket_status_active, ticket_status_order)
VALUES
  (1, 'New', '#dc3545', 1, 1),
  (2, 'Open', '#007bff', 1, 2),
  (3, 'On Hold', '#ffc107', 1, 3),
  (4, 'Resolved', '#28a745', 1, 4),
  (5, 'Closed', '#343a40', 1, 5);

INSERT INTO tickets
  (ticket_id, ticket_prefix, ticket_number, ticket_subject, ticket_details,
   ticket_priority, ticket_status, ticket_created_at, ticket_updated_at,
   ticket_first_response_at, ticket_created_by, ticket_assigned_to,
   ticket_client_id, ticket_contact_id)
VALUES
  (1, 'TCK-', 1, 'Printer not working',
   '<p>The second-floor printer shows a paper jam that is not there.</p>',
   'High', 2, '2026-05-04 09:15:00', '2026-05-04 11:00:00',
   '2026-05-04 09:40:00', 1, 2, 1, 1),
  (2, 'TCK-', 2, 'VPN down',
   '<p>Nobody can connect to the office VPN since this morning.</p>',
   'High', 1, '2026-05-05 07:50:00', '2026-05-05 08:05:00',
   NULL, 1, 0, 2, 3),
  (3, 'TCK-', 3, 'Email bouncing',
   '<p>Mail to our supplier comes back with a 550 error.</p>',
   'Medium', 3, '2026-05-05 13:20:00', '2026-05-06 10:30:00',
   '2026-05-05 14:00:00', 2, 2, 1, 2);

-- Internal and Public replies are by a user; Client replies by a contact.
INSERT INTO ticket_replies
  (ticket_reply_id, ticket_reply, ticket_reply_type, ticket_reply_time_worked,
   ticket_reply_created_at, ticket_reply_by, ticket_reply_ticket_id)
VALUES
  (1, '<p>Remote session: the jam sensor reports a fault.</p>', 'Internal', '00:15:00', '2026-05-04 09:30:00', 2, 1),
  (2, '<p>We are looking at it; a technician will come by after lunch.</p>', 'Public', '00:05:00', '2026-05-04 09:40:00', 2, 1),
  (3, '<p>Thanks, we will be here.</p>', 'Client', NULL, '2026-05-04 10:10:00', 1, 1),
  (4, '<p>Firewall rebooted overnight; checking the VPN service.</p>', 'Internal', '00:20:00', '2026-05-05 08:05:00', 1, 2),
  (5, '<p>The supplier''s server rejects our SPF record. We will update it.</p>', 'Public', '00:30:00', '2026-05-05 14:00:00', 2, 3),
  (6, '<p>Any news? Orders are piling up.</p>', 'Client', NULL, '2026-05-06 09:45:00', 2, 3),
  (7, '<p>Waiting for the DNS host to apply the SPF change.</p>', 'Internal', '00:10:00', '2026-05-06 10:30:00', 2, 3);

-- First-generation API keys: client 0 sees every client.
INSERT INTO api_keys
  (api_key_id, api_key_name, api_key_secret, api_key_decrypt_hash,
   api_key_created_at, api_key_expire, api_key_client_id)
VALUES
  (1, 'Demo global key', 'demo-global-key-0000', '', '2026-05-01 10:00:00', '2099-12-31', 0),
  (2, 'Demo Acme key', 'demo-acme-key-00000', '', '2026-05-01 10:05:00', '2099-12-31', 1);
