"""The descriptor walker on a small FileDescriptorProto built here: full names, qualnames,
SourceCodeInfo paths, spans and comments."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from protoforge.source.descriptors import (
    FILE_MESSAGE,
    FILE_SERVICE,
    SERVICE_METHOD,
    Span,
    clean_comment,
    elements,
    file_messages,
    locations,
    messages,
    span_of,
)


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name="acme/v1/shop.proto", package="acme.v1")
    order = proto.message_type.add(name="Order")
    order.field.add(name="id", number=1)
    line = order.nested_type.add(name="Line")
    line.nested_type.add(name="Discount")
    order.enum_type.add(name="State").value.add(name="OPEN", number=0)
    proto.message_type.add(name="Empty")
    service = proto.service.add(name="Shop")
    service.method.add(name="Get", input_type=".acme.v1.Order", output_type=".acme.v1.Empty")
    location = proto.source_code_info.location.add()
    location.path.extend([FILE_SERVICE, 0, SERVICE_METHOD, 0])
    location.span.extend([9, 2, 40])
    location.leading_comments = "   Gets an order.\n     Indented more.\n\n"
    wide = proto.source_code_info.location.add()
    wide.path.extend([FILE_MESSAGE, 0])
    wide.span.extend([2, 0, 7, 1])
    return proto


def test_messages_are_nested_with_full_names_and_qualnames() -> None:
    found = [(full, qualname) for full, qualname, _ in file_messages(_file())]
    assert found == [
        ("acme.v1.Order", "Order"),
        ("acme.v1.Order.Line", "Order.Line"),
        ("acme.v1.Order.Line.Discount", "Order.Line.Discount"),
        ("acme.v1.Empty", "Empty"),
    ]


def test_messages_without_a_package_have_bare_names() -> None:
    proto = _file()
    assert [full for full, _, _ in messages(proto.message_type)][:2] == ["Order", "Order.Line"]


def test_elements_visit_every_declaration_with_its_source_path() -> None:
    found = {(kind, full): path for kind, full, _, path in elements(_file())}
    assert found[("message", "acme.v1.Order")] == (FILE_MESSAGE, 0)
    assert found[("field", "acme.v1.Order.id")] == (FILE_MESSAGE, 0, 2, 0)
    assert found[("message", "acme.v1.Order.Line.Discount")] == (FILE_MESSAGE, 0, 3, 0, 3, 0)
    assert found[("enum_value", "acme.v1.Order.State.OPEN")] == (FILE_MESSAGE, 0, 4, 0, 2, 0)
    assert found[("rpc", "acme.v1.Shop.Get")] == (FILE_SERVICE, 0, SERVICE_METHOD, 0)
    kinds = [kind for kind, *_ in elements(_file())]
    assert kinds.index("message") < kinds.index("field")  # parents before children


def test_locations_spans_and_comments_join_by_path() -> None:
    by_path = locations(_file())
    method = by_path[(FILE_SERVICE, 0, SERVICE_METHOD, 0)]
    assert span_of(method) == Span(10, 3, 10, 41)  # one-line span, 1-based
    assert span_of(by_path[(FILE_MESSAGE, 0)]) == Span(3, 1, 8, 2)
    assert span_of(by_path[(FILE_MESSAGE, 0)]).contains(5, 80)
    assert not span_of(method).contains(11, 1)
    assert clean_comment(method.leading_comments) == "Gets an order.\n  Indented more."


def test_clean_comment_handles_crlf_and_blank_text() -> None:
    assert clean_comment(" one\r\n two \r\n") == "one\ntwo"
    assert clean_comment("\n\n") == ""
