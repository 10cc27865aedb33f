-- Why: raw totals = mart totals + quarantined, so nothing is dropped between the source and the
-- marts. Three links, each checked here or beside it:
--   (1) source -> raw: received = loaded + quarantined per load (assert_load_tallies_balance);
--   (2) raw table -> ledger: the latest load of each resource wrote exactly `loaded` rows carrying
--       its load id, with the tally's money (merge rewrites a row's _dlt_load_id, so only the
--       latest load can be compared exactly);
--   (3) raw -> marts: every raw row reaches its fact, count and money to the cent (staging is a
--       1:1 cast of the raw table).
-- Rows returned name the resource and the side that differs.
{% set feeds = [
    ('clio', 'bills', 'stg_clio__bills', 'total', 'fct_invoices', "source_system = 'clio'", 'total_amount'),
    ('actionstep', 'bills', 'stg_actionstep__bills', 'total', 'fct_invoices', "source_system = 'actionstep'", 'total_amount'),
    ('clio', 'line_items', 'stg_clio__line_items', 'total', 'fct_invoice_lines', "source_system = 'clio'", 'line_total'),
    ('actionstep', 'billlines', 'stg_actionstep__bill_lines', 'amount', 'fct_invoice_lines', "source_system = 'actionstep'", 'line_total'),
    ('clio', 'allocations', 'stg_clio__allocations', 'amount', 'fct_payments', "source_system = 'clio'", 'amount'),
    ('actionstep', 'receipts', 'stg_actionstep__receipts', 'amount', 'fct_payments', "source_system = 'actionstep'", 'amount'),
    ('clio', 'credit_memos', 'stg_clio__credit_memos', 'amount', 'fct_write_offs', "write_off_source = 'lpm_clio'", 'amount'),
    ('actionstep', 'writeoffs', 'stg_actionstep__write_offs', 'amount', 'fct_write_offs', "write_off_source = 'lpm_actionstep'", 'amount'),
    ('clio', 'activities', "(select * from " ~ ref('stg_clio__activities') ~ " where activity_type = 'TimeEntry')", 'total', 'fct_time_entries', "source_system = 'clio'", 'recorded_value'),
    ('actionstep', 'timeentries', 'stg_actionstep__time_entries', 'billable_amount', 'fct_time_entries', "source_system = 'actionstep'", 'case when is_billable then recorded_value else 0 end'),
    ('ebilling', 'status_history', "(select * from " ~ ref('stg_ebilling__status_history') ~ " where status = 'Rejected')", 'null', 'fct_rejections', 'true', 'null'),
] %}

with

tallies as (

    select * from {{ ref('int_load_tallies_unioned') }}

),

latest_tally as (

    select dataset, resource, load_id, loaded_count, money_column, money_loaded
    from tallies
    qualify row_number() over (partition by dataset, resource order by loaded_at desc, load_id desc) = 1

),

{#- (2) one check per tally row, built from the tally itself (its money_column names the column). -#}
{%- set raw_checks = [] -%}
{%- if execute -%}
    {%- set rows = run_query("select dataset, resource, load_id, loaded_count, money_column from "
        ~ ref('int_load_tallies_unioned')
        ~ " qualify row_number() over (partition by dataset, resource order by loaded_at desc, load_id desc) = 1") -%}
    {%- for r in rows -%}
        {%- set rel = adapter.get_relation(database='raw', schema='raw_' ~ r[0], identifier=r[1]) -%}
        {%- do raw_checks.append((r[0], r[1], r[2], rel, r[4])) -%}
    {%- endfor -%}
{%- endif %}

raw_vs_tally as (

    select cast(null as varchar) as dataset, cast(null as varchar) as resource,
           cast(null as bigint) as raw_rows, cast(null as decimal(38, 6)) as raw_money
    where false
{%- for dataset, resource, load_id, rel, money_column in raw_checks %}
    union all
    select '{{ dataset }}', '{{ resource }}',
    {%- if rel is not none %}
        count(*),
        {% if money_column %}coalesce(sum(try_cast("{{ money_column }}" as decimal(38, 6))), 0){% else %}null{% endif %}
    from {{ rel }}
    where _dlt_load_id = '{{ load_id }}'
    {%- else %}
        0, {% if money_column %}0{% else %}null{% endif %}
    {%- endif %}
{%- endfor %}

),

raw_failures as (

    select
        t.dataset,
        t.resource,
        'raw rows of the latest load differ from its tally' as check_name,
        cast(t.loaded_count as decimal(38, 6)) as expected,
        cast(r.raw_rows as decimal(38, 6)) as actual
    from latest_tally as t
    left join raw_vs_tally as r on r.dataset = t.dataset and r.resource = t.resource
    where r.raw_rows is distinct from t.loaded_count

    union all

    select
        t.dataset,
        t.resource,
        'raw money of the latest load differs from its tally',
        cast(t.money_loaded as decimal(38, 6)),
        r.raw_money
    from latest_tally as t
    inner join raw_vs_tally as r on r.dataset = t.dataset and r.resource = t.resource
    where t.money_column is not null and r.raw_money <> coalesce(t.money_loaded, 0)

),

mart_checks as (
{% for dataset, resource, staging, raw_money, mart, mart_where, mart_money in feeds %}
    select
        '{{ dataset }}' as dataset,
        '{{ resource }}' as resource,
        (select count(*) from {{ ref(staging) if not staging.startswith('(') else staging }}) as raw_rows,
        (select count(*) from {{ ref(mart) }} where {{ mart_where }}) as mart_rows,
        (select coalesce(sum({{ raw_money }}), 0) from {{ ref(staging) if not staging.startswith('(') else staging }}) as raw_money,
        (select coalesce(sum({{ mart_money }}), 0) from {{ ref(mart) }} where {{ mart_where }}) as mart_money
    {% if not loop.last %}union all{% endif %}
{% endfor %}
),

mart_failures as (

    select dataset, resource, 'raw rows differ from mart rows', cast(raw_rows as decimal(38, 6)), cast(mart_rows as decimal(38, 6))
    from mart_checks
    where raw_rows <> mart_rows

    union all

    select dataset, resource, 'raw money differs from mart money', cast(raw_money as decimal(38, 6)), cast(mart_money as decimal(38, 6))
    from mart_checks
    where raw_money <> mart_money

)

select * from raw_failures
union all
select * from mart_failures
