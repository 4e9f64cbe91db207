"""A form post to the device ingress (a signed-in browser, not a gateway) is a 400, never a 500."""


def test_form_post_to_ingress_is_400(world, client_for):
    response = client_for("hebin_secretary").post("/care/ingress/", {"member": 1, "note": "测试"})
    assert response.status_code == 400
