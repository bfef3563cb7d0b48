<%@ Page Title="Drafts" Language="C#" MasterPageFile="~/Site.Master" AutoEventWireup="true" CodeBehind="Default.aspx.cs" Inherits="Drafts._Default" %>
<asp:Content ID="BodyContent" ContentPlaceHolderID="MainContent" runat="server">
    <h2>Bills in drafting</h2>
    <asp:Repeater ID="Bills" runat="server">
        <ItemTemplate>
            <li><a href="Bill.aspx?id=<%# Eval("Id") %>"><%# Eval("Title") %></a> (<%# Eval("Stage") %>)</li>
        </ItemTemplate>
    </asp:Repeater>
    <p>Search: <%= Server.HtmlEncode(Request.QueryString["q"] ?? "") %></p>
    <script type="text/javascript">
        var request = new XMLHttpRequest();
        request.onload = function () { var data = eval(request.responseText); render(data); };
        request.open("GET", "api/bills.ashx?stage=" + encodeURIComponent(stage));
        request.send();
    </script>
</asp:Content>
