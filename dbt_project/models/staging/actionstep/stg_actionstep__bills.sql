-- grain: one row per raw_actionstep.bills row
with

source as (

    {{ source_or_empty('actionstep', 'bills', [
        ('id', 'varchar'),
        ('our_reference', 'varchar'),
        ('status', 'varchar'),
        ('currency', 'varchar'),
        ('invoice_date', 'date'),
        ('due_date', 'date'),
        ('billing_start_date', 'date'),
        ('billing_end_date', 'date'),
        ('total_exclusive', 'decimal(18,2)'),
        ('total_sales_tax', 'decimal(18,2)'),
        ('total_inclusive', 'decimal(18,2)'),
        ('total_paid', 'decimal(18,2)'),
        ('total_due', 'decimal(18,2)'),
        ('split_percentage', 'decimal(18,4)'),
        ('links__action', 'varchar'),
        ('links__their_participant', 'varchar'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as bill_id,
        cast("our_reference" as varchar) as invoice_number,
        cast("status" as varchar) as status,
        cast("currency" as varchar) as currency,
        cast("invoice_date" as date) as invoice_date,
        cast("due_date" as date) as due_date,
        cast("billing_start_date" as date) as billing_start_date,
        cast("billing_end_date" as date) as billing_end_date,
        {{ to_money('"total_exclusive"') }} as total_exclusive,
        {{ to_money('"total_sales_tax"') }} as tax_total,
        {{ to_money('"total_inclusive"') }} as total,
        {{ to_money('"total_paid"') }} as paid,
        {{ to_money('"total_due"') }} as due,
        cast("split_percentage" as decimal(18, 4)) as split_percentage,
        {{ to_id('"links__action"') }} as action_id,
        {{ to_id('"links__their_participant"') }} as payer_participant_id,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
