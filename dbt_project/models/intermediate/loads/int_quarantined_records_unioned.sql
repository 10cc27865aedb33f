-- grain: one row per quarantined record, across every raw dataset
with

{% set systems = ['clio', 'actionstep', 'ebilling', 'ledes', 'sales'] %}
{% for system in systems %}
{{ system }}_quarantine as (

    select * from {{ ref('stg_' ~ system ~ '__quarantined_records') }}

),
{% endfor %}

final as (
{% for system in systems %}
    select '{{ system }}' as dataset, * from {{ system }}_quarantine
    {% if not loop.last %}union all{% endif %}
{% endfor %}
)

select * from final
