-- grain: one row per raw_ebilling.invoices row
with

source as (

    {{ source_or_empty('ebilling', 'invoices', [
        ('invoice_id', 'varchar'),
        ('invoice_number', 'varchar'),
        ('platform', 'varchar'),
        ('firm_client_id', 'varchar'),
        ('law_firm_matter_id', 'varchar'),
        ('client_matter_id', 'varchar'),
        ('invoice_date', 'date'),
        ('submitted_at', 'timestamptz'),
        ('status', 'varchar'),
        ('status_at', 'timestamptz'),
        ('currency', 'varchar'),
        ('submitted_total', 'decimal(18,2)'),
        ('approved_total', 'decimal(18,2)'),
        ('last_modified', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"invoice_id"') }} as ebilling_invoice_id,
        cast("invoice_number" as varchar) as invoice_number,
        cast("platform" as varchar) as platform,
        cast("firm_client_id" as varchar) as client_code,
        cast("law_firm_matter_id" as varchar) as matter_number,
        cast("client_matter_id" as varchar) as client_matter_id,
        cast("invoice_date" as date) as invoice_date,
        {{ to_utc('"submitted_at"') }} as submitted_at,
        cast("status" as varchar) as status,
        {{ to_utc('"status_at"') }} as status_at,
        cast("currency" as varchar) as currency,
        {{ to_money('"submitted_total"') }} as submitted_total,
        {{ to_money('"approved_total"') }} as approved_total,
        {{ to_utc('"last_modified"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
