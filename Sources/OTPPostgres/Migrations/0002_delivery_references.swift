extension PostgresSchema {
    /// Version 2: deliveries keyed by our reference (`DeliveryReference`), as SQLite's schema
    /// version 6; rows from before keep their key (provider, message id) in an index of only those.
    static let m0002DeliveryReferences = PostgresMigration(version: 2, name: "delivery_references", sql: """
        ALTER TABLE sms_deliveries ADD COLUMN reference text;
        ALTER TABLE sms_deliveries DROP CONSTRAINT sms_deliveries_pkey;
        CREATE UNIQUE INDEX sms_deliveries_reference ON sms_deliveries (reference);
        CREATE UNIQUE INDEX sms_deliveries_unreferenced ON sms_deliveries (provider, message_id) WHERE reference IS NULL;
        """)
}
