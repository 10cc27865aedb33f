-- grain: one row per write-down or write-off event (write_off_key), of three types:
--   pre_bill_write_down: a discount on billed work (quantity x price - billed, across the
--     payers' lines of a split bill), or a WIP entry written off (Clio written_off,
--     Actionstep 'No charge');
--   ebilling_reduction: a line reduction by the client on the e-billing platform;
--   ar_write_off: a billed balance written off (Clio credit memo, Actionstep write-off).
-- amount is positive: the value lost.
-- The billed part is int_write_offs_billed; the WIP written off is added here.
with

billed as (

    select * from {{ ref('int_write_offs_billed') }}

),

written_off_entries as (

    -- the stored entries (one row per int_time_entries_unioned row, same columns and values):
    -- reading the view would join every entry to its matter and bill again. Only the written
    -- off ones: a day of new unbilled entries leaves this model as it was (macros/delta_reads.sql)
    select * from {{ delta_read('int_time_entries_valued', "status = 'written_off'") }}

),

written_off_expenses as (

    select * from {{ delta_read('int_expenses_unioned', "status = 'written_off'") }}

),

wip_time_written_off as (

    select
        'wip_written_off:' || time_entry_key,
        'pre_bill_write_down',
        'lpm_wip_written_off',
        cast(null as varchar),
        cast(null as varchar),
        matter_number,
        timekeeper_id,
        entry_date,
        cast(null as varchar),
        recorded_value,
        cast(0 as decimal(18, 2)),
        cast(null as varchar),
        'WIP_WRITTEN_OFF'
    from written_off_entries

),

wip_expenses_written_off as (

    select
        'wip_written_off:' || expense_key,
        'pre_bill_write_down',
        'lpm_wip_written_off',
        cast(null as varchar),
        cast(null as varchar),
        matter_number,
        timekeeper_id,
        entry_date,
        cast(null as varchar),
        amount,
        cast(0 as decimal(18, 2)),
        cast(null as varchar),
        'WIP_WRITTEN_OFF'
    from written_off_expenses

),

final as (

    select * from billed
    union all
    select * from wip_time_written_off
    union all
    select * from wip_expenses_written_off

)

select * from final
