{#
  Data tests of an incremental build (docs/warehouse.md, "Tests of an incremental build").

  Every generic test reads the model it tests through get_where_subquery(relation) (dbt wraps
  the `model` argument in it). In an incremental build (LEXRECON_DELTA set by
  lexrecon.warehouse.build, macros/incremental_delta.sql) this override hands some tests only
  the rows this build changed, `(select * from <model> where <changed rows>) dbt_subquery`,
  when looking at those rows alone proves the same as looking at all of them. The argument
  always starts from the previous build being green (an incremental build starts only from a
  green one) and from the tested model's other rows being exactly the previous build's rows:

  - a delta model (delta_model_config in macros/incremental_delta.sql) whose changed raw inputs
    are all delta_raw_tables(): its changed rows are delta_rows_filter(grain, since); every
    other row is the previous build's row, untouched (it deletes exactly the rows that filter
    selects, then inserts rows that the same filter selects);
  - an incremental staging model over one raw table (delete+insert on its unique key, taking
    the raw rows with a newer _dlt_load_id than any it holds): its changed rows are the ones
    with dlt_load_id > the previous build's mark of that raw table; a row with an older load id
    is a raw row the previous build read unchanged (dlt gives a new or changed record a new
    load id and never deletes one), so it was in the previous table.

  Per test (test name, dbt's built-ins and tests/generic/*; anything else reads all rows):
  - unique: the changed rows' values of the column, on all rows: `col in (select col from
    <model> where <changed rows>)` (a duplicate among the unchanged rows alone would have
    failed the previous build). On the model's own delete key (time_entry_key of a time-entry delta model, expense_key of
    int_expenses_unioned, the unique_key of a staging model) a changed and an unchanged row
    never share a value (the rows of a changed key are all deleted and re-inserted), so the
    changed rows alone suffice.
  - not_null, accepted_values, not_negative, expression_is_true (a row passes or fails on its
    own values; an expression or where with a subquery reads other rows: all rows): the
    changed rows. Only where that filter is cheap (a staging model's load-id range, which
    DuckDB's zone maps skip to the newest rows): on a delta model the filter is a semi-join
    probing every key, which costs more than these one-column scans (DuckDB answers not_null
    from column statistics), so they read all rows there.
  - relationships (child rows whose value is missing from the parent `to`): the changed child
    rows, only when the parent did not change in this build (delta_unchanged_parent); a
    changed parent may have lost a value an unchanged child row points to. On a delta model
    that costs about what the whole test does (the same one probe of every row), so it is
    restricted where the filter is cheap only, like the row tests.
  - row_count_matches, sum_matches, unique_combination and singular tests: all rows (a total
    that matched in the previous build does not split into per-row facts the changed rows can
    be checked against; see docs/warehouse.md).
#}


{% macro get_where_subquery(relation) -%}
    {%- set changed = delta_test_rows(relation) if execute else none -%}
    {%- if changed is none -%}
        {{ return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) }}
    {%- endif -%}
    {%- set where = config.get('where', '') -%}
    {%- set conditions = ['(' ~ where ~ ')'] if where else [] -%}
    {%- do conditions.append('(' ~ changed ~ ')') -%}
    {{ return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ')
              ~ ') dbt_subquery') }}
{%- endmacro %}


{# Tests restricted to the changed rows, by the cost of the filter (see the header):
   'load_id' = a staging model's load-id range, 'key' = a delta model's key semi-join. Every
   test named here is sound restricted on both kinds; the var delta_key_restricted_tests (a
   list of test names) changes the 'key' list, e.g. to restrict all of them on a small firm. #}
{% macro delta_restricted_tests() %}
    {%- set sound = ['unique', 'not_null', 'accepted_values', 'not_negative',
                     'expression_is_true', 'relationships'] -%}
    {{ return({
        'load_id': sound,
        'key': var('delta_key_restricted_tests', ['unique']) | select('in', sound) | list,
    }) }}
{% endmacro %}


{# The rows of `relation` the running generic test needs to read in this build, as a where
   condition, or none for all rows. #}
{% macro delta_test_rows(relation) %}
    {%- set spec = delta_spec() -%}
    {%- if model.resource_type != 'test' or not model.test_metadata
           or model.test_metadata.namespace or not spec.get('changed_upstream')
           or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- if tested is none or tested.resource_type != 'model'
           or tested.alias != relation.identifier or tested.schema != relation.schema -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set changed = delta_changed_rows(tested, spec) -%}
    {%- set test = model.test_metadata.name -%}
    {%- if changed is none or test not in delta_restricted_tests()[changed.kind] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set kwargs = model.test_metadata.kwargs -%}
    {%- if test == 'unique' -%}
        {%- set column = kwargs.column_name -%}
        {%- if column == changed.key -%}
            {{ return(changed.rows) }}
        {%- endif -%}
        {{ return(column ~ ' in (select ' ~ column ~ ' from ' ~ relation ~ ' where '
                  ~ changed.rows ~ ')') }}
    {%- elif test == 'relationships' -%}
        {%- set parents = model.depends_on.nodes | reject('equalto', model.attached_node)
                          | list -%}
        {%- if parents | length == 1 and delta_unchanged_parent(parents[0], spec) -%}
            {{ return(changed.rows) }}
        {%- endif -%}
        {{ return(none) }}
    {%- elif test == 'expression_is_true' -%}
        {%- if 'select' in ((kwargs.expression or '') ~ ' ' ~ (kwargs.where or '')) | lower -%}
            {{ return(none) }}
        {%- endif -%}
        {{ return(changed.rows) }}
    {%- endif -%}
    {{ return(changed.rows) }}
{% endmacro %}


{# What this build changed in the tested model: {'rows': where condition, 'key': a column that
   changed and unchanged rows never share (or none), 'kind': 'key' | 'load_id'}, or none when
   it may have changed any row (or it is not one of the two kinds of the header). #}
{% macro delta_changed_rows(tested, spec) %}
    {%- set changed_upstream = spec.get('changed_upstream', {}).get(tested.name) -%}
    {%- if not changed_upstream -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set hooks = tested.config.get('post-hook', []) | map(attribute='sql') | join(' ') -%}
    {%- set delete_keys = {'time_entry': 'time_entry_key', 'expense': 'expense_key', 'line': none} -%}
    {%- for grain in ['time_entry', 'expense', 'line'] -%}
        {%- if "delta_logged('" ~ grain ~ "')" in hooks -%}
            {%- set since = delta_since_of(tested.name) -%}
            {%- if since is none -%}
                {{ return(none) }}
            {%- endif -%}
            {{ return({'rows': delta_rows_filter(grain, since),
                       'key': delete_keys[grain],
                       'kind': 'key'}) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set config = tested.config -%}
    {%- set parents = tested.depends_on.nodes -%}
    {%- if config.materialized == 'incremental' and config.incremental_strategy == 'delete+insert'
           and config.unique_key is string and parents | length == 1
           and parents[0] in graph.sources and 'dlt_load_id >' in tested.raw_code -%}
        {%- set source = graph.sources[parents[0]] -%}
        {%- set raw = source.schema ~ '.' ~ (source.identifier or source.name) -%}
        {%- set mark = spec.get('since', {}).get(raw) -%}
        {%- if changed_upstream == [raw] and mark -%}
            {{ return({'rows': "dlt_load_id > '" ~ mark ~ "'", 'key': config.unique_key,
                       'kind': 'load_id'}) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}


{# Whether the model `uid` (a relationships test's parent) holds exactly the previous build's
   rows in this build: nothing upstream of it changed, or it is a table that no run of this
   build rebuilt (not selected in this dbt run, and not in the first run, which takes the
   delta models and the changed models upstream of them). A view follows its inputs, so it is
   unchanged only when nothing upstream of it changed. #}
{% macro delta_unchanged_parent(uid, spec) %}
    {%- set node = graph.nodes.get(uid) -%}
    {%- if node is none or node.resource_type != 'model' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set changed_upstream = spec.get('changed_upstream', {}).get(node.name) -%}
    {%- if changed_upstream is none -%}
        {{ return(false) }}
    {%- elif not changed_upstream -%}
        {{ return(true) }}
    {%- elif node.config.materialized not in ['table', 'incremental']
             or uid in selected_resources -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set upstream = [] -%}
    {%- for delta_uid, delta_node in graph.nodes.items()
            if delta_node.resource_type == 'model'
            and 'delta_logged(' in (delta_node.config.get('post-hook', [])
                                    | map(attribute='sql') | join(' ')) -%}
        {%- do upstream.append(delta_uid) -%}
        {%- do delta_upstream_models(delta_uid, upstream) -%}
    {%- endfor -%}
    {{ return(uid not in upstream) }}
{% endmacro %}


{# Append to `found` every model upstream of `uid` not in it yet. #}
{% macro delta_upstream_models(uid, found) %}
    {%- for parent in graph.nodes.get(uid, {}).get('depends_on', {}).get('nodes', []) -%}
        {%- if parent not in found and parent.startswith('model.') -%}
            {%- do found.append(parent) -%}
            {%- do delta_upstream_models(parent, found) -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
